"""Running the programme: where each return stands (status), reminders (chase), a new workspace (init),
simulated owners (simulate) and the built-in demo.
"""
