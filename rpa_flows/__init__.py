"""rpa_flows"""
