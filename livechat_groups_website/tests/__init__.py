from . import test_website_visitor
