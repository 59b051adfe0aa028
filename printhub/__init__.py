"""The print hub: an on-site agent that takes Wharf's print jobs to the printers on the warehouse LAN."""
