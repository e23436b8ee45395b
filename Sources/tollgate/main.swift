// Entry point: everything runs in ordinary functions (top-level closures would be @MainActor).
TollgateCommand.main()
