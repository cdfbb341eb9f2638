"""The facilitators' dashboard: demand, supply, gaps, activity, delays and shared themes, with CSV exports."""
