from cxplan.cli import console

console()
