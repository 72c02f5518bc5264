"""The rep's workspace: Today, the lead list, a lead's page, the board, the duplicates queue.

The top floor of the house: its pages read and write through the concepts below (leads,
scoring, stages, routing, cadences, segments) and nothing below imports it.
"""
