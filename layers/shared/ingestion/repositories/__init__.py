"""Repositories: the only code that knows how entities are stored in DynamoDB."""
