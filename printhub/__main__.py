"""``python -m printhub --server URL --secret SECRET``: the agent without Wharf installed."""

from printhub.agent import main

main()
