"""Execution: one streaming engine over files (ranges, process pools, spools, outputs written
whole or not at all). It calls the rules per transaction set; nothing below it imports it."""
