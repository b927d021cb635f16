"""The review meeting: meeting packs for members, the group's record, feedback letters, recommendations and
actions followed up across rounds.
"""
