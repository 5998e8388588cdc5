import StationCLI

StationCommand.main()
