"""Operations: the periodic tick and the background worker's commands.

The top of the house next to the pages: it calls each concept's periodic function and owns
none of the rules (those live in routing/, cadences/, intake/, scoring/, background.py).
"""
