"""dronesense.flight.state"""
