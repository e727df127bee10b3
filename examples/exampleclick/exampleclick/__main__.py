from exampleclick.cli import main

main()
