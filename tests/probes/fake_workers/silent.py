"""Never says hello (a hung import)."""

import time

time.sleep(600)
