"""Run a converted keyword model the way the device will: clip accuracy of float vs int8 runtimes
(`clips`), the streaming recognizer (`recognizer`), and detection over long recordings (`stream`)."""
