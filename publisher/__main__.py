import sys


def main() -> None:
    """The console script: a no-op `build` is answered before typer and the libraries load."""
    from publisher.nochange import report_unchanged

    if not report_unchanged(sys.argv[1:]):
        from publisher.cli import main as cli_main

        cli_main()


if __name__ == "__main__":
    main()
