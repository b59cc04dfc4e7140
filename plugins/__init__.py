"""Built-in plugins, registered through the `moderation` entry-point group like any third-party plugin."""
