import pytest
from tools.credits import credit_digits


@pytest.mark.parametrize(
    ("amount", "digits"),
    [
        (1440, 2),
        (50, 2),
        (7.2, 2),
        (1.44, 2),
        (-2.88, 2),
        (0, 2),
        (None, 2),
        (1.4375, 4),
        (0.125, 3),
    ],
)
def test_credits_show_two_decimals_unless_the_amount_needs_more(amount, digits):
    assert credit_digits(amount) == digits
