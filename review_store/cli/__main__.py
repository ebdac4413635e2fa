from review_store.cli import main

main()
