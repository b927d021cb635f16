"""Built-in framework definitions and message templates, installed as package data.

The files here are data: edit the TOML to change the framework (and bump its version),
or put a custom definition in a workspace's ``frameworks/`` folder.
"""
