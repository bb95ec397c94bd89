from . import main, messenger
