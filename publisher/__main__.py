import gc
import sys

# A build holds a whole archive's records (120,000 objects at 5,000 issues) and makes few
# reference cycles: collecting every 700 allocations, the default, was a tenth of an edit's
# rebuild. Cycles are still collected, a hundred times less often.
GC_THRESHOLDS = (100_000, 50, 100)


def main() -> None:
    """The console script: a no-op `build` is answered before typer and the libraries load."""
    gc.set_threshold(*GC_THRESHOLDS)
    from publisher.nochange import report_unchanged

    if not report_unchanged(sys.argv[1:]):
        from publisher.cli import main as cli_main

        try:
            cli_main()
        finally:
            # What is left (a loaded workspace, its views) goes with the process: frozen,
            # the collection at exit leaves it be (a second at 5,000 issues).
            gc.freeze()


if __name__ == "__main__":
    main()
