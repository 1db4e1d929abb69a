import atexit
import gc
import os
import sys
import threading

# A build holds a whole archive's records (120,000 objects at 5,000 issues) and makes few
# reference cycles: collecting every 700 allocations, the default, was a tenth of an edit's
# rebuild. Cycles are still collected, a hundred times less often.
GC_THRESHOLDS = (100_000, 50, 100)


def main() -> None:
    """The console script: a no-op `build` is answered before typer and the libraries load."""
    gc.set_threshold(*GC_THRESHOLDS)
    from publisher.nochange import report_unchanged

    if report_unchanged(sys.argv[1:]):
        return
    from publisher.cli import main as cli_main

    try:
        cli_main()
    except SystemExit as exc:
        leave(exc.code if exc.code is None or isinstance(exc.code, int) else str(exc.code))
    leave(0)


def leave(code: str | int | None) -> None:
    """End the process as `sys.exit(code)` would, without its teardown: freeing what a loaded
    archive left, object by object, was a second of every command at 5,000 issues. The exit
    handlers still run (pools, logs, temporary folders), and the output is flushed; with
    another thread still running (it would be joined, or cut short), the usual exit is taken."""
    if threading.active_count() > 1:
        gc.freeze()  # what is left is not walked by the collection at exit either
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): printed, status 1
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`): the usual exit's status
            status = status or 120
    os._exit(status)


if __name__ == "__main__":
    main()
