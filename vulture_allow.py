"""Names vulture cannot see being used (``make lint`` runs vulture with this file).

Never executed: each line only mentions a name that a framework reads by name, or that
code outside vulture's paths (schemas/, models/, templates) reads.
"""

# Flask, Werkzeug and Flask-Login read these attributes and methods by name.
_.max_content_length  # Request limit set per blueprint
_.max_age  # Response.cache_control
_.private  # Response.cache_control
_.no_cache  # Response.cache_control
_.permanent  # flask.session
_.session_protection  # LoginManager
_.is_anonymous  # flask_login's user protocol
_.get_id  # flask_login's user protocol
_.auth_session_id  # flask.g, read through g.get("auth_session_id")
_.sort_keys  # the JSON provider's setting

# WeasyPrint's URL fetcher protocol (services/documents.py).
_.fetch
_._file_obj
_.content_type
_.charset

# SQLAlchemy's event signature and RQ's failure callback signature name every argument.
_.conn
_.cursor
_.executemany
_.tb

# google-re2 options (services/rules/conditions.py).
_.log_errors
_.never_capture

# Limits the request schemas enforce (schemas/business_rules.py reads them).
_.LATER
_.LOG_LEVELS
_.MAX_ACTIONS
_.MAX_MESSAGE
_.EVENT_NAME
_.MAX_DEPTH
_.MAX_CHILDREN
_.MAX_NODES

# The operator table's one-operator view: tests check every operator through it.
_.apply_operator

# gunicorn loads the live-progress benchmark's app by name ("lcs_live:bench_app()").
_.bench_app

# A history moment's person, read by templates/lcs/shipment.html.
_.who

# The ZPL label's entry points (services/zpl.py): the print spooler and the label template
# admin screen call them (issue 17); until they land, tests/test_zpl.py does.
_.render_label
_.validate_template

# models/scope.Scope calls this on whatever restriction it holds (services/object_permissions.py).
_.clause_for

# s3transfer reads this attribute of the TransferConfig (services/storage.py S3Driver.write).
_.max_in_memory_upload_chunks
