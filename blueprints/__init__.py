"""Every blueprint and where it is mounted: the app's URL surface in one table.

Open Mercato modules (family A) are served under ``/api/<module>`` as in seed 000 and
again without ``/api`` for browsers; the view is the same, only the rendering differs.
"""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from blueprints.api_docs import bp as api_docs_bp
    from blueprints.api_keys import bp as api_keys_bp
    from blueprints.attachments import bp as attachments_bp
    from blueprints.audit_logs import bp as audit_logs_bp
    from blueprints.auth import bp as auth_bp
    from blueprints.auth import pages_bp as auth_pages_bp
    from blueprints.business_rules import bp as business_rules_bp
    from blueprints.business_rules import pages_bp as business_rules_pages_bp
    from blueprints.cnt import bp as cnt_bp
    from blueprints.dashboard import bp as dashboard_bp
    from blueprints.directory import bp as directory_bp
    from blueprints.feature_toggles import bp as feature_toggles_bp
    from blueprints.lcs import bp as lcs_bp
    from blueprints.mes import bp as mes_bp
    from blueprints.permissions import bp as permissions_bp
    from blueprints.plans import bp as plans_bp
    from blueprints.progress import bp as progress_bp
    from blueprints.signing_keys import bp as signing_keys_bp
    from blueprints.spl import bp as spl_bp
    from blueprints.storage_providers import bp as storage_providers_bp

    mounts = [
        # (blueprint, [(url_prefix, registration name), ...])
        (auth_bp, [("/api/auth", "api_auth"), ("/auth", "auth")]),
        (auth_pages_bp, [("/auth", "auth_pages")]),
        (dashboard_bp, [("", "dashboard")]),
        (api_docs_bp, [("/api", "api_docs")]),
        (directory_bp, [("/api/directory", "api_directory"), ("/directory", "directory")]),
        (api_keys_bp, [("/api/api_keys", "api_api_keys"), ("/api_keys", "api_keys")]),
        (audit_logs_bp, [("/api/audit_logs", "api_audit_logs"), ("/audit_logs", "audit_logs")]),
        (attachments_bp, [("/api/attachments", "api_attachments"), ("/attachments", "attachments")]),
        (
            storage_providers_bp,
            [("/api/storage-providers", "api_storage_providers"), ("/storage-providers", "storage_providers")],
        ),
        # Seed 002 (Mindbricks) routes keep their root paths and are also reachable under /api.
        (signing_keys_bp, [("/api", "api_signing_keys"), ("", "signing_keys")]),
        (permissions_bp, [("/api/permissions", "api_permissions"), ("/permissions", "permissions")]),
        (plans_bp, [("/api/v1/plans", "api_plans"), ("/plans", "plans")]),
        (
            feature_toggles_bp,
            [("/api/feature_toggles", "api_feature_toggles"), ("/feature_toggles", "feature_toggles")],
        ),
        (business_rules_bp, [("/api/business_rules", "api_business_rules"), ("/business_rules", "business_rules")]),
        (business_rules_pages_bp, [("/business_rules", "business_rules_pages")]),
        (progress_bp, [("/api/progress", "api_progress"), ("/progress", "progress")]),
        # Afosto modules (family B) keep their seed paths and are also reachable under /api.
        (lcs_bp, [("/api/lcs", "api_lcs"), ("/lcs", "lcs")]),
        (cnt_bp, [("/api/cnt", "api_cnt"), ("/cnt", "cnt")]),
        (mes_bp, [("/api/mes", "api_mes"), ("/mes", "mes")]),
        (spl_bp, [("/api/spl", "api_spl"), ("/spl", "spl")]),
    ]
    for blueprint, prefixes in mounts:
        for prefix, name in prefixes:
            app.register_blueprint(blueprint, url_prefix=prefix or None, name=name)
