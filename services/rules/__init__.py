"""Business rules: the condition language (``conditions``), actions (``actions``), the engine
with its per-process compiled cache (``engine``), the stored rules, sets and logs (``store``)
and the hook that runs the engine on the logistics events (``listener``).

Nothing here knows about HTTP; ``blueprints/business_rules`` is the web layer.
"""
