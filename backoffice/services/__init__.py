"""Domain logic, free of views and templates: views, commands and jobs call it."""
