"""teaching_mode"""
