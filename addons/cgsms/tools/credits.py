"""How many decimals a number of credits is shown with."""

MOST_DIGITS = 4  # the ledger's precision


def credit_digits(amount):
    """2 decimals ("50,00", "7,20"), more only when the amount needs them ("1,4375")."""
    amount = amount or 0.0
    for digits in range(2, MOST_DIGITS):
        if abs(round(amount, digits) - amount) < 10 ** -(MOST_DIGITS + 2):
            return digits
    return MOST_DIGITS
