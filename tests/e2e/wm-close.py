#!/usr/bin/env python3
"""Asks the app's window to close the way a window manager's close button (or Alt+F4) does: a
WM_DELETE_WINDOW ClientMessage sent to every top-level window of class CLASS on $DISPLAY (Xvfb has
no window manager, and xdotool is not installed). Used by tests/e2e/unsaved.test.mjs.
Prints how many windows were asked; exits 1 when none was found."""
import ctypes
import ctypes.util
import re
import subprocess
import sys

wanted = sys.argv[1] if len(sys.argv) > 1 else "baoxue-app"
tree = subprocess.run(["xwininfo", "-root", "-children"], capture_output=True, text=True, check=True).stdout
ids = [int(m.group(1), 16) for m in re.finditer(r"^\s+(0x[0-9a-f]+) .*\(\"%s\"" % re.escape(wanted), tree, re.M)]

x = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XInternAtom.restype = ctypes.c_ulong
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
x.XFlush.argtypes = [ctypes.c_void_p]
x.XCloseDisplay.argtypes = [ctypes.c_void_p]


class ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
        ("pad", ctypes.c_long * 24),  # XEvent is a union of 24 longs
    ]


dpy = x.XOpenDisplay(None)
if not dpy:
    sys.exit("无法连接 X 显示（DISPLAY 未设置？）")
protocols = x.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
delete = x.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
for w in ids:
    ev = ClientMessage()
    ev.type = 33  # ClientMessage
    ev.window = w
    ev.message_type = protocols
    ev.format = 32
    ev.data[0] = delete
    ev.data[1] = 0  # CurrentTime
    x.XSendEvent(dpy, w, 0, 0, ctypes.byref(ev))
x.XFlush(dpy)
x.XCloseDisplay(dpy)
print(len(ids))
sys.exit(0 if ids else 1)
