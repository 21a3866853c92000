#!/usr/bin/python3
"""
tests/golden/esp_out_scapy/check.py DIR: after the run, decrypt every
ESP frame gen.py recorded (golden_esp.check_dir, what gen.py's
docstring lists) and print what is wrong, one problem a line.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from golden_esp import check_main  # noqa: E402

if __name__ == "__main__":
	check_main()
