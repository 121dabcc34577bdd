"""remits"""
