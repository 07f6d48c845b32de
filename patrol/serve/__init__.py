"""`patrol serve`: the case board as a small local web application where reviewers click reviews.

``create_app(ServeConfig)`` builds the Flask app (server-rendered with the report templates);
``run_server(config)`` serves it. See ``patrol.serve.app`` for the security rules.
"""
