"""The contract layer: Pydantic models of every operation's input and output, named after
the seeds' schemas. Views declare them (``web.contract.operation``), services receive them
as typed input, and the OpenAPI document is generated from them."""
