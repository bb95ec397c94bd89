from . import main, messenger, thread
