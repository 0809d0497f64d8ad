from starter.cli.app import main

main()
