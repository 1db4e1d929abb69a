"""The web archive beyond issue pages: metadata, structured data, tag pages, search, sitemap."""
