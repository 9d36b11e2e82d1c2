"""What analysts and their managers see: Kibana saved objects and the brand-risk report."""
