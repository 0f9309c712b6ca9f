import Foundation
import ChorusCLI

exit(Chorus.main(CommandLine.arguments))
