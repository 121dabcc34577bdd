from mohsedi.cli.main import cli

cli()
