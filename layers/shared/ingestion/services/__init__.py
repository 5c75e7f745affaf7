"""Services: one function per use case, called by exactly one function entry point each."""
