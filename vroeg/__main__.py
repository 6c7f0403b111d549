from vroeg.cli import main

main()
