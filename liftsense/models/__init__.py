"""Form classifiers: the paper's CNN, LSTM and RNN, and the LightningModule that trains them."""
