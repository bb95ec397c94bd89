from . import main, messenger, replica, thread
