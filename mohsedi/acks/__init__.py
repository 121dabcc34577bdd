"""999 and 277CA acknowledgments: what the clearinghouse or payer said about what was sent."""
