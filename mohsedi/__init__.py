"""mohsedi: X12 837P/835 processor for Mohs-surgery and dermatology billing."""

__version__ = "0.1.0"
