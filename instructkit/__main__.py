from instructkit.cli import main

main()
