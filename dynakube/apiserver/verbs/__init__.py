"""The embedded server's verbs: single objects (crud), lists, patches and watches."""

__all__: list[str] = []
