from starter.cli.entry import main

main()
