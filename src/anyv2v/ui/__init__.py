"""`anyv2v ui`: the whole edit in a local web page (gradio), from the upload to the result.

`runs.py` holds the steps without the page (what an upload is, the first frame, the edited frame, a run and
its folder), each through the command line's own code; `app.py` lays out the page and wires the steps to it;
`examples.py` renders the synthetic example clips. Importing this package does not import gradio.
"""
