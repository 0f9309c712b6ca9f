print("chorus: under construction")
